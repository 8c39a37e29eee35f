"""Mail into the record: the doors a message comes in by, and how it is read.

``mailbox`` is the shared-mailbox door (IMAP over TLS, ``manage.py fetch_mail``);
what becomes of a message is decided by ``crm.services.mail``.
"""
