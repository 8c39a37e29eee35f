"""The REST API under /api/v1/: conventional DRF viewsets over the domain model.

One module per concept, as ``crm/models/``, each holding its resources'
serializers, FilterSet and viewset (``follow_ups.py``, ``agreements.py``…);
what they share in ``base.py`` (the viewset), ``serializers.py`` and
``filters.py``; the routes in ``urls.py``.
"""
