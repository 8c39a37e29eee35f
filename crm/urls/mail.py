"""URLs of mail: "Courriels à classer", uploading messages, one message and its filing."""

from django.urls import path

from crm.views import mail

urlpatterns = [
    path("mail/", mail.mail_list, name="mail"),
    path("mail/upload/", mail.mail_upload, name="mail-upload"),
    path("mail/<int:pk>/", mail.mail_message, name="mail-message"),
    path("mail/<int:pk>/file/", mail.mail_file, name="mail-file"),
    path("mail/<int:pk>/discard/", mail.mail_discard, name="mail-discard"),
]
