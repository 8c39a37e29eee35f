"""Staff pages: the daily follow-up work, one partner's story, a project's pipeline.

Thin function views. Each page loads its object through one ``_get_x_for_user``
helper (select_related, 404, permission); reads come from the QuerySets in
``crm.managers`` and every write goes through ``crm.services``. A user without
the model's view permission gets a 403 on a page; without the add/change
permission, a 403 on any action.
"""
