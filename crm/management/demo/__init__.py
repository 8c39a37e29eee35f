"""Demonstration data, made by the ``load_demo`` command on top of the source facts.

Kept apart from ``fixtures/`` so that a real deployment loads the facts without
any of this. None of it is a fact: every record says it is an example (a title
or text starting with ``[Démo]``, ``is_demo`` where the model has it), and that
mark is also the key that makes running the command again harmless. One module
per concept, as in ``crm/models/``:

- ``accounts``: the demonstration users, one per role;
- ``follow_ups``: follow-ups due relative to today, and an example follow-up plan;
- ``commitments``: an illustrative USD rate and commitments in every status;
- ``agreements``: a draft memorandum of understanding and its document;
- ``documents``: the one-page PDF every demonstration document holds.
"""

# The mark every demonstration record's title or text starts with.
PREFIX = "[Démo] "
# What the commitments, the MoU and their documents say of themselves (the
# follow-ups say it in their own words: follow_ups.DEMO_NOTICE).
NOTICE = "Exemple de démonstration — ne décrit aucun engagement réel."
# The project the demo commitments and the draft MoU belong to.
PROJECT = "paiements-digitaux"
