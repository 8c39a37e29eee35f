"""Upload size limits: an upload too large is refused while it arrives, not after.

Django streams a file to disk as it reads the body, and reads the body the
first time anything asks for the form (``request.POST`` or ``request.FILES``,
the CSRF check included). ``limit_uploads`` must therefore run before that:
a view that takes a file is ``csrf_exempt`` outside, calls it, then runs its
work under ``csrf_protect`` and answers the ``too_large`` error it raises.
"""

from collections.abc import Callable

from django.core.files.uploadhandler import FileUploadHandler


class LimitedUploadHandler(FileUploadHandler):
    """Stop reading an upload once it passes ``limit`` bytes, before it fills a disk.

    Placed first, it only counts: the handlers after it store the data. The
    declared length refuses most uploads before a byte is read; counting each
    file's chunks refuses the rest at the limit, whatever the length said.
    """

    # Room for the other fields of the form around the file.
    FORM_OVERHEAD = 64 * 1024

    def __init__(self, request=None, *, limit: int, too_large: Callable[[], Exception]):
        super().__init__(request)
        self.limit = limit
        self.too_large = too_large
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + self.FORM_OVERHEAD:
            raise self.too_large()

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            raise self.too_large()
        return raw_data

    def file_complete(self, file_size):
        return None


def limit_uploads(request, *, limit: int, too_large: Callable[[], Exception]) -> None:
    """Put the size check in front of ``request``'s upload handlers.

    Only before the body is read: afterwards Django refuses to change them.
    """
    request.upload_handlers.insert(
        0, LimitedUploadHandler(request, limit=limit, too_large=too_large)
    )
