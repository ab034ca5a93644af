"""The durable inbox: every update Telegram hands over is stored before it is acknowledged.

- :mod:`.models`: the ``inbox_updates`` table (unique ``update_id``) and ``runtime_secrets``;
- :mod:`.service`: storing (a repeated ``update_id`` is ignored), claiming with a lease,
  marking done (the payload is dropped then), purging old rows;
- :mod:`.batcher`: group commit of stores and done marks (one transaction for a burst);
- :mod:`.processor`: runs the stored updates through a handler, one chat's updates in order,
  no chat waiting for another;
- :mod:`.secrets`: the webhook secret generated once and shared by every process.

No ``telegram`` import: updates are plain JSON dicts here.
"""

from bot.inbox.service import Claimed, InboxService, chat_key_of, update_kind

__all__ = ["Claimed", "InboxService", "chat_key_of", "update_kind"]
