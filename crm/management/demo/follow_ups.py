"""Demonstration follow-ups, due relative to today, and an example follow-up plan.

Every follow-up made here has a title starting with ``[Démo] `` (the key that
makes re-running harmless) and says in its description that it is
demonstration data. Due dates are relative to today, so the demo always shows
something overdue, something due this week and something later.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.management.base import CommandError
from django.utils import timezone

from crm.management.demo import PREFIX
from crm.management.demo.accounts import COORDINATION, STAFF, YOU
from crm.models import FollowUp, FollowUpPlan, FollowUpPlanStep, Interaction, Organization, Project
from crm.services import follow_up_complete

DEMO_NOTICE = "Donnée de démonstration — ne décrit aucun engagement réel."


@dataclass(frozen=True)
class DemoFollowUp:
    title: str
    project: str
    organization: str | None
    due_in_days: int
    assignee: str
    status: str = FollowUp.Status.OPEN
    priority: str = FollowUp.Priority.NORMAL
    interaction: str | None = None
    detail: str = ""
    done_note: str = ""


DEMO_FOLLOW_UPS = [
    DemoFollowUp(
        "Relancer Mastercard après les rencontres du CCA",
        "paiements-digitaux",
        "mastercard",
        -12,
        YOU,
        priority=FollowUp.Priority.HIGH,
        interaction="rencontres-cca-2023-09",
        detail="Exemple de relance en retard.",
    ),
    DemoFollowUp(
        "Envoyer à Visa la fiche du projet de paiements digitaux",
        "paiements-digitaux",
        "visa",
        -4,
        STAFF,
        status=FollowUp.Status.IN_PROGRESS,
        interaction="rencontres-cca-2023-09",
        detail="Exemple de tâche en cours et en retard.",
    ),
    DemoFollowUp(
        "Identifier les sociétés de capital-risque rencontrées",
        "hub-innovation-digital",
        "venture-capital-firms",
        2,
        STAFF,
        priority=FollowUp.Priority.HIGH,
        interaction="echanges-capital-risque-2023-09",
        detail="Exemple : remplacer l'entrée provisoire par les sociétés réelles.",
    ),
    DemoFollowUp(
        "Proposer un appel à l'Université de Stanford",
        "hub-innovation-digital",
        "stanford",
        4,
        YOU,
        status=FollowUp.Status.WAITING,
        interaction="echanges-stanford-2023-09",
        detail="Exemple de tâche en attente d'une réponse du partenaire.",
    ),
    DemoFollowUp(
        "Préparer l'ordre du jour d'un échange avec Visa",
        "paiements-digitaux",
        "visa",
        6,
        COORDINATION,
        detail="Exemple de tâche à faire cette semaine.",
    ),
    DemoFollowUp(
        "Recenser les incubateurs rencontrés",
        "hub-innovation-digital",
        "incubators",
        21,
        STAFF,
        priority=FollowUp.Priority.LOW,
        interaction="echanges-incubateurs-2023-09",
        detail="Exemple de tâche à plus long terme.",
    ),
    DemoFollowUp(
        "Dresser la liste des besoins du projet de connectivité",
        "connectivite",
        None,
        30,
        COORDINATION,
        detail="Exemple de tâche interne, sans organisation.",
    ),
    DemoFollowUp(
        "Rédiger le compte rendu interne de la mission",
        "connectivite",
        None,
        -20,
        YOU,
        detail="Exemple de tâche terminée.",
        done_note="[Démo] Compte rendu rédigé et partagé avec l'équipe.",
    ),
    DemoFollowUp(
        "Partager avec Mastercard la note sur les paiements digitaux",
        "paiements-digitaux",
        "mastercard",
        -8,
        STAFF,
        detail="Exemple de tâche terminée.",
        done_note="[Démo] Note envoyée par e-mail ; accusé de réception reçu.",
    ),
]

# An example follow-up plan. Plans are tools of the unit, not facts of the source,
# so the example lives with the demonstration data. Its key is the slug.
DEMO_PLAN = {
    "slug": "apres-une-premiere-rencontre",
    "name": "Après une première rencontre",
    "description": (
        "Exemple de plan de suivi (démonstration) : les étapes habituelles après une "
        "première rencontre avec un partenaire potentiel."
    ),
    "steps": [
        (2, "Envoyer un message de remerciement", FollowUp.Priority.NORMAL),
        (14, "Envoyer la note conceptuelle du projet", FollowUp.Priority.HIGH),
        (30, "Proposer un appel de suivi", FollowUp.Priority.NORMAL),
    ],
}

REQUIRED_PROJECTS = ["connectivite", "hub-innovation-digital", "paiements-digitaux"]


def source_facts() -> tuple[dict[str, Project], dict[str, Organization]]:
    """Return the projects and organisations the demo hangs on, or refuse."""
    projects = Project.objects.in_bulk(REQUIRED_PROJECTS, field_name="code")
    slugs = {spec.organization for spec in DEMO_FOLLOW_UPS if spec.organization}
    organizations = Organization.objects.in_bulk(slugs, field_name="slug")
    missing = [f"project {code}" for code in REQUIRED_PROJECTS if code not in projects]
    missing += [f"organisation {slug}" for slug in sorted(slugs - organizations.keys())]
    if missing:
        raise CommandError(
            f"The source facts are not loaded (missing: {', '.join(missing)}). Load "
            "them first: manage.py loaddata fixtures/compact_togo_2023.json (or run "
            "manage.py setup_local)."
        )
    return projects, organizations


def load(
    *,
    today: date,
    by,
    assignees: dict,
    projects: dict[str, Project],
    organizations: dict[str, Organization],
    write: Callable[[str], None],
) -> None:
    """Create the demo follow-ups not made yet, given to ``assignees`` (by key)."""
    interactions = Interaction.objects.in_bulk(
        [spec.interaction for spec in DEMO_FOLLOW_UPS if spec.interaction],
        field_name="slug",
    )
    existing = set(FollowUp.objects.filter(is_demo=True).values_list("title", flat=True))
    created = 0
    for spec in DEMO_FOLLOW_UPS:
        title = PREFIX + spec.title
        if title in existing:
            continue
        _create(
            spec,
            title=title,
            today=today,
            project=projects[spec.project],
            organization=organizations[spec.organization] if spec.organization else None,
            interaction=interactions.get(spec.interaction),
            assignee=assignees[spec.assignee],
            by=by,
        )
        created += 1
    write(f"Demo follow-ups: {created} created, {len(DEMO_FOLLOW_UPS) - created} already there.")


def _create(spec: DemoFollowUp, *, title: str, today: date, by, **links) -> None:
    follow_up = FollowUp(
        title=title,
        description=f"{DEMO_NOTICE} {spec.detail}".strip(),
        due_on=today + timedelta(days=spec.due_in_days),
        status=FollowUp.Status.OPEN if spec.done_note else spec.status,
        priority=spec.priority,
        is_demo=True,
        created_by=by,
        **links,
    )
    follow_up.full_clean()
    follow_up._history_user = by
    follow_up.save()
    if spec.done_note:
        # Done a day before it was due, through the service that staff use.
        done_on = follow_up.due_on - timedelta(days=1)
        at = timezone.make_aware(datetime.combine(done_on, time(10)))
        follow_up_complete(follow_up=follow_up, by=links["assignee"], note=spec.done_note, at=at)
        # Opened a week before it was done, not today: a timeline never shows
        # work done before it was asked for.
        opened_at = at - timedelta(days=7)
        FollowUp.objects.filter(pk=follow_up.pk).update(created_at=opened_at)
        follow_up.history.filter(history_type="+").update(history_date=opened_at)


def load_plan(*, write: Callable[[str], None]) -> None:
    """Create the example follow-up plan once; later edits in the admin stay."""
    plan, created = FollowUpPlan.objects.get_or_create(
        slug=DEMO_PLAN["slug"],
        defaults={
            "name": DEMO_PLAN["name"],
            "description": DEMO_PLAN["description"],
            "is_demo": True,
        },
    )
    if not created:
        write(f"Demo follow-up plan: {plan.name!r} already there.")
        return
    FollowUpPlanStep.objects.bulk_create(
        FollowUpPlanStep(plan=plan, offset_days=days, title=title, priority=priority)
        for days, title, priority in DEMO_PLAN["steps"]
    )
    write(f"Demo follow-up plan: {plan.name!r} created.")
