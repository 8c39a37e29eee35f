"""Fill the database with synthetic data at scale, for benchmarks and load tests.

    python manage.py generate_data --follow-ups 1000000

Everything else is in proportion to the follow-ups: organisations (one per 500
follow-ups, at least 200), two people per organisation with their
affiliations, an interaction per four follow-ups (each with one to three
organisations, people met, staff present and a project), a partnership for about
one organisation in two per project with its stage history, and 40 staff
members. Distributions follow what a coordination unit sees: most follow-ups
done, a quarter open, due dates piling up around today; a few colleagues carry
most of the work (a Zipf-like share).

It also looks like years of use (issue 22): three missions hold 2%, 1% and
0.4% of the meetings (5,000, 2,500 and 1,000 at a million follow-ups); one
long-lived partner (the first organisation) has a tenth as many meetings and
follow-ups as there are follow-ups (100,000 of each at a million), a
partnership on every project and a long stage history; most descriptions and
summaries are words drawn from a vocabulary at Zipf frequencies ("réunion",
"note", "paiement" in a large share of rows), with a rare word in about one row
in a thousand and a reference number ("réf. 0004567") in one in ten.

Names are plainly synthetic ("Synthetic organisation 00042", slugs starting with
``synthetic-``) and the seed is fixed, so two runs give the same rows. Rows go
in by COPY on PostgreSQL and by bulk INSERTs of 5,000 elsewhere; a progress bar
is drawn on stderr. It adds to the database, it does not empty it; it refuses
to run twice on the same database (the synthetic slugs would clash).
"""

import itertools
import random
import sys
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.db.models import Max

from crm import roles
from crm.models import (
    Affiliation,
    FollowUp,
    Interaction,
    InteractionOrganization,
    InteractionPerson,
    InteractionProject,
    Mission,
    MissionMember,
    Organization,
    Partnership,
    Person,
    Programme,
    Project,
    StageChange,
)

PREFIX = "synthetic"
BATCH = 5000
SEED = 20260115
# The synthetic "today": due dates and meetings are spread around it.
TODAY = date(2026, 1, 15)

# Shares seen in a unit's follow-ups after a few years: most work is done.
STATUSES = [("done", 60), ("open", 22), ("in_progress", 6), ("waiting", 6), ("cancelled", 6)]
PRIORITIES = [("normal", 70), ("high", 20), ("low", 10)]
STAGES = list(Partnership.Stage.values)

# Words of the unit's notes, most frequent first: a row's words are drawn with
# weight 1/rank (Zipf), so the first few are in a large share of rows.
COMMON_WORDS = (  # noqa: SIM905 (a sentence of words reads better than a column)
    "réunion note paiement partenaire projet envoyer rapport proposition suivi "
    "accord financement données banque mobile signature budget calendrier atelier "
    "formation connectivité innovation incubateur transfert pilote étude contrat "
    "courrier appel visite convention énergie port carte compte marchand fintech "
    "opérateur réseau fibre câble satellite licence régulation ministère délégation "
    "mission washington lomé investissement capital risque startup université "
    "recherche bourse stage échange plateforme interopérabilité sécurité identité "
    "numérique portefeuille agent commission frais tarif devis facture livraison "
    "équipement serveur logiciel cloud hébergement centre jeunes femmes "
    "entrepreneurs agriculture santé éducation douane logistique conteneur quai "
    "terminal navire fret dédouanement guichet unique cadastre foncier électricité "
    "solaire mini-réseau abonnement compteur prépayé"
).split()
# Words a handful of rows hold: what a search for something precise finds.
RARE_WORDS = (  # noqa: SIM905 (a sentence of words reads better than a column)
    "kpalimé aného sokodé dapaong tsévié atakpamé bassar mango notsé vogan badou "
    "blitta kandé niamtougou tabligbo amlamé kévé anié sotouboua tchamba zanzibar "
    "mombasa kigali dakar abidjan cotonou accra lagos nairobi casablanca hydrolienne "
    "géothermie biométrie blockchain tokenisation cryptographie microassurance "
    "nanosatellite agrivoltaïsme photogrammétrie"
).split()
RARE_SHARE = 0.001
REFERENCE_SHARE = 0.1
# The long-lived partner's share of the follow-ups, and of the meetings (in
# follow-ups: a tenth of the follow-ups' number, i.e. 40% of the meetings).
LONG_LIVED_SHARE = 0.1
# The missions' shares of the meetings.
MISSION_SHARES = (0.02, 0.01, 0.004)


def _weighted(rng: random.Random, pairs: list[tuple[str, int]], k: int) -> list[str]:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights, k=k)


class Progress:
    """A plain progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int, *, enabled: bool) -> None:
        self.total, self.enabled, self.done, self.drawn_at = total, enabled, 0, 0.0
        self.label = ""

    def advance(self, rows: int, label: str) -> None:
        self.done += rows
        self.label = label
        now = time.monotonic()
        if self.enabled and (now - self.drawn_at >= 0.1 or self.done >= self.total):
            self.drawn_at = now
            share = min(self.done / self.total, 1) if self.total else 1
            bar = "#" * int(share * 30)
            sys.stderr.write(f"\r[{bar:<30}] {share:4.0%} {label:<22}")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


class Words:
    """Text in the unit's words, at Zipf frequencies, drawn from the generator's seed."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        weights = [1 / (rank + 1) for rank in range(len(COMMON_WORDS))]
        self.cumulative = list(itertools.accumulate(weights))

    def text(self, low: int, high: int, reference: int) -> str:
        rng = self.rng
        words = rng.choices(COMMON_WORDS, cum_weights=self.cumulative, k=rng.randint(low, high))
        if rng.random() < RARE_SHARE:
            words.insert(rng.randrange(len(words) + 1), rng.choice(RARE_WORDS))
        if rng.random() < REFERENCE_SHARE:
            words.append(f"réf. {reference:07d}")
        return " ".join(words).capitalize() + "."


class Writer:
    """Insert rows given as tuples of column values: COPY on PostgreSQL, else bulk INSERTs.

    Ids are chosen here (after the table's largest), so that rows can refer to
    each other before they are written; PostgreSQL's sequences are moved past
    them at the end.
    """

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.postgresql = connection.vendor == "postgresql"
        self.tables: list[type] = []

    def next_id(self, model) -> int:
        return (model._base_manager.aggregate(top=Max("pk"))["top"] or 0) + 1

    def write(self, model, columns: list[str], rows: Iterable[tuple], label: str) -> int:
        """Write ``rows``: tuples in the order of ``columns`` (attribute names); count them."""
        if model not in self.tables:
            self.tables.append(model)
        count = 0
        if self.postgresql:
            column_of = {f.attname: f.column for f in model._meta.concrete_fields}
            # A column added to the model later, NOT NULL with a plain default
            # (a flag, an empty text), gets that default: COPY has no model to
            # fill it in, as bulk_create does.
            extra = [
                field
                for field in model._meta.concrete_fields
                if field.attname not in columns
                and not field.null
                and not (field.has_default() and callable(field.default))
                and field.get_default() is not None
            ]
            if extra:
                columns = [*columns, *(field.attname for field in extra)]
                defaults = tuple(field.get_default() for field in extra)
                rows = (tuple(row) + defaults for row in rows)
            names = ", ".join(connection.ops.quote_name(column_of[c]) for c in columns)
            table = connection.ops.quote_name(model._meta.db_table)
            with (
                connection.wrap_database_errors,
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row)
                    count += 1
                    if count % BATCH == 0:
                        self.progress.advance(BATCH, label)
            self.progress.advance(count % BATCH, label)
            return count
        batch = []
        for row in rows:
            batch.append(model(**dict(zip(columns, row, strict=True))))
            if len(batch) == BATCH:
                model._base_manager.bulk_create(batch)
                count += len(batch)
                self.progress.advance(len(batch), label)
                batch = []
        model._base_manager.bulk_create(batch)
        count += len(batch)
        self.progress.advance(len(batch), label)
        return count

    def finish(self) -> None:
        if not self.postgresql:
            return
        with connection.cursor() as cursor:
            for model in self.tables:
                table, pk = model._meta.db_table, model._meta.pk.column
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), "
                    f"(SELECT COALESCE(MAX({connection.ops.quote_name(pk)}), 1) "
                    f"FROM {connection.ops.quote_name(table)}))",
                    [table, pk],
                )


class Command(BaseCommand):
    help = (
        "Add clearly synthetic organisations, people, interactions, partnerships and "
        "follow-ups in realistic proportions (fixed seed), for benchmarks."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--follow-ups", type=int, required=True, help="How many follow-ups.")
        parser.add_argument("--users", type=int, default=40, help="Staff members (default 40).")
        parser.add_argument("--seed", type=int, default=SEED)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, follow_ups: int, users: int, seed: int, **options) -> None:
        if follow_ups < 1 or users < 1:
            raise CommandError("Give at least one follow-up and one user.")
        if Organization.objects.filter(slug__startswith=f"{PREFIX}-").exists():
            raise CommandError("This database already holds synthetic data.")
        sizes = self.sizes(follow_ups, users)
        total = sum(sizes.values())
        progress = Progress(total, enabled=not options["no_progress"] and options["verbosity"] > 0)
        started = time.monotonic()
        with transaction.atomic():
            writer = Writer(progress)
            counts = Generator(random.Random(seed), writer, sizes).run()
            writer.finish()
        progress.finish()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                for model in writer.tables:
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        seconds = time.monotonic() - started
        summary = ", ".join(f"{count:,} {name}" for name, count in counts.items())
        self.stdout.write(f"Generated in {seconds:.1f} s: {summary}.")

    @staticmethod
    def sizes(follow_ups: int, users: int) -> dict[str, int]:
        organizations = max(200, follow_ups // 500)
        return {
            "users": users,
            "organizations": organizations,
            "people": organizations * 2,
            "affiliations": organizations * 2,
            "interactions": max(1, follow_ups // 4),
            "partnerships": organizations,  # About, after removing repeats.
            "follow-ups": follow_ups,
        }


class Generator:
    def __init__(self, rng: random.Random, writer: Writer, sizes: dict[str, int]) -> None:
        self.rng, self.writer, self.sizes = rng, writer, sizes
        self.now = datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
        self.words = Words(rng)

    def run(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        self.make_users()
        counts["users"] = len(self.user_ids)
        self.make_programme()
        counts["organizations"] = self.make_organizations()
        counts["people"], counts["affiliations"] = self.make_people()
        counts["partnerships"], counts["stage changes"] = self.make_partnerships()
        counts["missions"] = self.make_missions()
        counts["interactions"], counts["interaction links"] = self.make_interactions()
        counts["follow-ups"] = self.make_follow_ups()
        return counts

    # A few colleagues carry most of the work: weight 1/rank.
    def assignees(self, k: int) -> list[int]:
        return self.rng.choices(self.user_ids, weights=self.user_weights, k=k)

    def make_users(self) -> None:
        User = get_user_model()
        staff, created = Group.objects.get_or_create(name=roles.STAFF)
        if created:
            staff.permissions.set(roles.role_permissions(roles.STAFF))
        start = self.writer.next_id(User)
        count = self.sizes["users"]
        created = User.objects.bulk_create(
            [
                User(
                    id=start + n,
                    username=f"{PREFIX}-user-{n:03d}",
                    first_name="Synthetic",
                    last_name=f"Colleague {n:03d}",
                    email=f"{PREFIX}-user-{n:03d}@example.invalid",
                    is_staff=True,
                )
                for n in range(count)
            ]
        )
        staff.user_set.add(*created)
        self.writer.tables.append(User)
        self.user_ids = [user.pk for user in created]
        self.user_weights = [1 / (rank + 1) for rank in range(count)]
        self.writer.progress.advance(count, "users")

    def make_programme(self) -> None:
        funder = Organization.objects.create(
            slug=f"{PREFIX}-funder", name="Synthetic funder", kind="development_agency"
        )
        programme = Programme.objects.create(
            slug=f"{PREFIX}-programme",
            name="Synthetic programme",
            funder=funder,
            country="TG",
            status="implementation",
        )
        self.project_ids = [
            Project.objects.create(
                programme=programme,
                code=f"{PREFIX}-{n}",
                name=f"Synthetic project {n}",
                sector=("ict", "energy")[n % 2],
            ).pk
            for n in range(8)
        ]

    def make_organizations(self) -> int:
        count = self.sizes["organizations"]
        start = self.writer.next_id(Organization)
        kinds = Organization.Kind.values
        rng, now = self.rng, self.now
        self.organization_ids = list(range(start, start + count))

        # The first organisation is the partner of long standing.
        self.long_lived = self.organization_ids[0]

        def rows() -> Iterator[tuple]:
            for n, pk in enumerate(self.organization_ids):
                flagged = rng.random() < 0.05
                long_lived = " (long-lived partner)" if pk == self.long_lived else ""
                yield (
                    pk,
                    f"{PREFIX}-organisation-{n:06d}",
                    f"Synthetic organisation {n:06d}{long_lived}",
                    "",
                    rng.choice(kinds),
                    rng.choice(["TG", "TG", "TG", "US", "FR", "GH", "BJ"]),
                    rng.choice(["Lomé", "Lomé", "Kara", "Washington", "Paris", "Accra"]),
                    f"https://{PREFIX}-{n}.example.invalid",
                    "",  # No e-mail domain: no mail is filed with them.
                    "Synthetic organisation, generated for benchmarks.",
                    True,
                    flagged,
                    "Synthetic: check the name." if flagged else "",
                    now,
                    now,
                )

        columns = ["id", "slug", "name", "short_name", "kind", "country", "city", "website"]
        columns += ["email_domains"]
        columns += ["description", "is_identified", "needs_verification", "verification_note"]
        columns += ["created_at", "updated_at"]
        return self.writer.write(Organization, columns, rows(), "organisations")

    def make_people(self) -> tuple[int, int]:
        count = self.sizes["people"]
        start = self.writer.next_id(Person)
        rng, now = self.rng, self.now
        self.person_ids = list(range(start, start + count))

        def people() -> Iterator[tuple]:
            for n, pk in enumerate(self.person_ids):
                yield (
                    pk,
                    f"{PREFIX}-person-{n:06d}",
                    "Synthetic",
                    f"Person {n:06d}",
                    f"{PREFIX}-person-{n:06d}@example.invalid",
                    "",
                    rng.choice(["fr", "fr", "en"]),
                    "",
                    now,
                    now,
                )

        columns = ["id", "slug", "given_name", "family_name", "email", "phone"]
        columns += ["preferred_language", "notes", "created_at", "updated_at"]
        people_count = self.writer.write(Person, columns, people(), "people")

        def affiliations() -> Iterator[tuple]:
            # Each person works at one organisation (two per organisation on
            # average), a fifth of them in a role that has ended.
            for pk in self.person_ids:
                ended = rng.random() < 0.2
                start_on = TODAY - timedelta(days=rng.randint(60, 3000))
                end_on = start_on + timedelta(days=rng.randint(30, 50)) if ended else None
                yield (
                    pk,
                    rng.choice(self.organization_ids),
                    rng.choice(["Director", "Adviser", "Head of partnerships", "Engineer"]),
                    start_on,
                    end_on,
                    not ended,
                    self.now,
                )

        columns = ["person_id", "organization_id", "title", "start_on", "end_on", "is_primary"]
        columns += ["updated_at"]
        return people_count, self.writer.write(Affiliation, columns, affiliations(), "roles")

    def make_partnerships(self) -> tuple[int, int]:
        rng, now = self.rng, self.now
        start = self.writer.next_id(Partnership)
        pairs = sorted(
            {
                (organization, rng.choice(self.project_ids))
                for organization in self.organization_ids
                if rng.random() < 0.9
            }
            # The long-lived partner works on every project.
            | {(self.long_lived, project) for project in self.project_ids}
        )
        stages = [rng.randint(0, len(STAGES) - 1) for _pair in pairs]
        owners = self.assignees(len(pairs))
        self.partnerships = list(range(start, start + len(pairs)))

        def partnerships() -> Iterator[tuple]:
            for pk, (organization, project), stage, owner in zip(
                self.partnerships, pairs, stages, owners, strict=True
            ):
                role = rng.choice(Partnership.Role.values)
                yield (pk, organization, project, role, STAGES[stage], owner, "", now, now)

        columns = ["id", "organization_id", "project_id", "role", "stage", "owner_id", "notes"]
        columns += ["created_at", "updated_at"]
        count = self.writer.write(Partnership, columns, partnerships(), "partnerships")

        def changes() -> Iterator[tuple]:
            # The way each partnership came to its stage, one move at a time;
            # the long-lived partner's went back and forth for years first.
            for pk, (organization, _project), stage, owner in zip(
                self.partnerships, pairs, stages, owners, strict=True
            ):
                steps = list(range(stage + 1))
                if organization == self.long_lived:
                    steps = [rng.randint(0, len(STAGES) - 1) for _move in range(40)] + steps
                moved_at = now - timedelta(days=rng.randint(200, 1000) + 30 * len(steps))
                before = ""
                for step in steps:
                    if STAGES[step] == before:
                        continue
                    yield (pk, before, STAGES[step], moved_at, owner, "Synthetic move.")
                    before = STAGES[step]
                    moved_at += timedelta(days=rng.randint(5, 60))

        columns = ["partnership_id", "from_stage", "to_stage", "changed_at", "changed_by_id"]
        columns += ["note"]
        changed = self.writer.write(StageChange, columns, changes(), "stage changes")
        return count, changed

    def make_missions(self) -> int:
        """Three missions of the delegation, each with two members; their meetings come next."""
        self.missions = []
        for n, share in enumerate(MISSION_SHARES):
            start_on = TODAY - timedelta(days=400 * (n + 1))
            mission = Mission.objects.create(
                slug=f"{PREFIX}-mission-{n}",
                title=f"Synthetic mission {n}",
                start_on=start_on,
                end_on=start_on + timedelta(days=300),
                cities="Lomé, Washington",
            )
            for person in self.rng.sample(self.person_ids, 2):
                MissionMember.objects.create(mission=mission, person_id=person)
            self.missions.append((mission, share))
        self.writer.tables += [Mission, MissionMember]
        return len(self.missions)

    def make_interactions(self) -> tuple[int, int]:
        count = self.sizes["interactions"]
        rng, now = self.rng, self.now
        start = self.writer.next_id(Interaction)
        self.interaction_ids = list(range(start, start + count))
        kinds = _weighted(
            rng, [("meeting", 40), ("call", 25), ("email", 25), ("visit", 5), ("event", 5)], count
        )
        # Meetings pile up towards today: the triangular law's mode is today.
        days = [int(rng.triangular(0, 1500, 0)) for _ in range(count)]
        self.interaction_days = days
        creators = self.assignees(count)
        # Each mission takes its share of the meetings, dated within it.
        shuffled = rng.sample(self.interaction_ids, count)
        mission_of: dict[int, Mission] = {}
        taken = 0
        for mission, share in self.missions:
            size = max(1, int(count * share))
            for pk in shuffled[taken : taken + size]:
                mission_of[pk] = mission
            taken += size
        # A tenth as many of the long-lived partner's meetings as there are
        # follow-ups (at most all of them).
        long_lived = min(count, max(1, self.sizes["follow-ups"] // 10))
        self.long_lived_meetings = rng.sample(self.interaction_ids, long_lived)
        words = self.words

        def interactions() -> Iterator[tuple]:
            for n, (pk, kind, day, creator) in enumerate(
                zip(self.interaction_ids, kinds, days, creators, strict=True)
            ):
                mission = mission_of.get(pk)
                if mission is None:
                    occurred_on = TODAY - timedelta(days=day)
                else:
                    occurred_on = mission.start_on + timedelta(days=day % 300)
                yield (
                    pk,
                    f"{PREFIX}-interaction-{n:07d}",
                    kind,
                    mission.pk if mission else None,
                    occurred_on,
                    "day",
                    "Lomé",
                    f"Synthetic {kind} {n:07d}",
                    words.text(3, 40, n) if rng.random() < 0.8 else "",
                    "",
                    creator,
                    now,
                    now,
                )

        columns = ["id", "slug", "kind", "mission_id", "occurred_on", "date_precision", "city"]
        columns += ["title", "summary", "outcome", "created_by_id", "created_at", "updated_at"]
        written = self.writer.write(Interaction, columns, interactions(), "interactions")

        links = 0
        self.interaction_organization = {}

        long_lived_meetings = set(self.long_lived_meetings)

        def organizations() -> Iterator[tuple]:
            for pk in self.interaction_ids:
                chosen = rng.sample(self.organization_ids, rng.choice([1, 1, 1, 2, 3]))
                if pk in long_lived_meetings and self.long_lived not in chosen:
                    chosen[0] = self.long_lived
                elif pk not in long_lived_meetings and self.long_lived in chosen:
                    chosen.remove(self.long_lived)
                    if not chosen:
                        chosen = [self.organization_ids[1 + pk % (len(self.organization_ids) - 1)]]
                self.interaction_organization[pk] = chosen[0]
                for organization in chosen:
                    yield (pk, organization)

        links += self.writer.write(
            InteractionOrganization,
            ["interaction_id", "organization_id"],
            organizations(),
            "interaction links",
        )

        def people() -> Iterator[tuple]:
            for pk in self.interaction_ids:
                for person in rng.sample(self.person_ids, rng.choice([0, 1, 1, 2])):
                    yield (pk, person)

        links += self.writer.write(
            InteractionPerson, ["interaction_id", "person_id"], people(), "interaction links"
        )

        def projects() -> Iterator[tuple]:
            for pk in self.interaction_ids:
                yield (pk, rng.choice(self.project_ids))

        links += self.writer.write(
            InteractionProject, ["interaction_id", "project_id"], projects(), "interaction links"
        )
        staff_model = Interaction.staff.through

        def staff() -> Iterator[tuple]:
            for pk in self.interaction_ids:
                for user in set(self.assignees(rng.choice([1, 1, 2]))):
                    yield (pk, user)

        links += self.writer.write(
            staff_model, ["interaction_id", "user_id"], staff(), "interaction links"
        )
        return written, links

    def make_follow_ups(self) -> int:
        count = self.sizes["follow-ups"]
        rng, now = self.rng, self.now
        statuses = _weighted(rng, STATUSES, count)
        priorities = _weighted(rng, PRIORITIES, count)
        assignees = self.assignees(count)
        creators = self.assignees(count)

        words = self.words
        long_lived_meetings = set(self.long_lived_meetings)
        other_meetings = [pk for pk in self.interaction_ids if pk not in long_lived_meetings]
        other_meetings = other_meetings or self.interaction_ids

        def rows() -> Iterator[tuple]:
            for n in range(count):
                status = statuses[n]
                # Work still open is due around today (late or soon); done work
                # was due over the past years.
                if status in ("done", "cancelled"):
                    due_on = TODAY - timedelta(days=int(rng.triangular(0, 1500, 0)))
                else:
                    due_on = TODAY + timedelta(days=int(rng.triangular(-120, 90, 5)))
                with_meeting = rng.random() < 0.5
                if rng.random() < LONG_LIVED_SHARE:
                    # The long-lived partner's: from one of its meetings, or not.
                    organization = self.long_lived
                    interaction = rng.choice(self.long_lived_meetings) if with_meeting else None
                else:
                    interaction = rng.choice(other_meetings) if with_meeting else None
                    organization = (
                        self.interaction_organization[interaction]
                        if interaction
                        else rng.choice(self.organization_ids[1:] or self.organization_ids)
                    )
                done = status == "done"
                yield (
                    f"Synthetic follow-up {n:07d}",
                    words.text(6, 25, n) if rng.random() < 0.7 else "",
                    rng.choice(self.project_ids),
                    organization,
                    rng.choice(self.person_ids) if rng.random() < 0.3 else None,
                    interaction,
                    assignees[n],
                    due_on,
                    status,
                    priorities[n],
                    datetime.combine(due_on, datetime.min.time(), UTC) if done else None,
                    assignees[n] if done else None,
                    "Done (synthetic)." if done else "",
                    due_on - timedelta(days=7) if status == "waiting" else None,
                    creators[n],
                    now,
                    now,
                )

        columns = ["title", "description", "project_id", "organization_id", "person_id"]
        columns += ["interaction_id", "assignee_id", "due_on", "status", "priority"]
        columns += ["completed_at", "completed_by_id", "completion_note", "waiting_since"]
        columns += ["created_by_id", "created_at", "updated_at"]
        return self.writer.write(FollowUp, columns, rows(), "follow-ups")
