"""Django's JSON serialization, with times kept to the microsecond.

Django's own encoder cuts datetimes to milliseconds, so a ``dumpdata`` →
``loaddata`` copy would change every ``updated_at`` and with it every ETag
(``crm.api.base.etag_for``): each client would then see every record as changed
by someone else. Registered as the ``json`` format (``SERIALIZATION_MODULES``),
so ``dumpdata`` and ``loaddata`` use it without options (docs/backup.md).
"""

import datetime

from django.core.serializers import json as django_json
from django.core.serializers.json import DjangoJSONEncoder


class ExactJSONEncoder(DjangoJSONEncoder):
    """Write datetimes and times whole, microseconds included."""

    def default(self, o):
        if isinstance(o, datetime.datetime):
            text = o.isoformat()
            return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text
        if isinstance(o, datetime.time):
            return o.isoformat()
        return super().default(o)


class Serializer(django_json.Serializer):
    def _init_options(self):
        super()._init_options()
        self.json_kwargs["cls"] = ExactJSONEncoder


Deserializer = django_json.Deserializer
