"""The helpdesk desk: tickets for questions handed to Diskominfo and urgent incidents."""
