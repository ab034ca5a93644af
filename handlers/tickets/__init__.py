"""The helpdesk desk in chat: /tiket, /jawab, /tutup, ticket cards, /darurat."""
