"""The REST API under /api/v1/: conventional DRF viewsets over the domain model."""
