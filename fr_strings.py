"""French translations of the strings added by the weekly summary (issue 21, point 4)."""

T = {
    # crm/models/choices.py, accounts.py
    "Daily digest": "Résumé quotidien",
    "Weekly summary": "Synthèse hebdomadaire",
    "weekly summary by e-mail": "synthèse hebdomadaire par courriel",
    "Once a week, the overview's headline figures and what moved in the week. "
    "Empty: as your role decides (Coordination receives it).": (
        "Une fois par semaine, les chiffres clés de la vue d’ensemble et ce qui a bougé "
        "dans la semaine. Vide : selon votre rôle (la Coordination la reçoit)."
    ),
    # crm/weekly.py
    ("%(count)d partner moved", "%(count)d partners moved"): (
        "%(count)d partenaire en mouvement",
        "%(count)d partenaires en mouvement",
    ),
    ("%(count)d follow-up overdue", "%(count)d follow-ups overdue"): (
        "%(count)d suivi en retard",
        "%(count)d suivis en retard",
    ),
    "Weekly summary, week of %(date)s: %(moved)s, %(overdue)s": (
        "Synthèse hebdomadaire, semaine du %(date)s\u00a0: %(moved)s, %(overdue)s"
    ),
    # crm/views/accounts.py
    "Weekly summary by e-mail": "Synthèse hebdomadaire par courriel",
    "As my role decides (Coordination receives it)": "Selon mon rôle (la Coordination la reçoit)",
    "Yes, send it to me": "Oui, me l’envoyer",
    "No, do not send it to me": "Non, ne pas me l’envoyer",
    "You will receive the weekly summary by e-mail.": (
        "Vous recevrez la synthèse hebdomadaire par courriel."
    ),
    "You will not receive the weekly summary.": "Vous ne recevrez pas la synthèse hebdomadaire.",
    # templates/crm/api_tokens.html
    "Every week: where each project's partnerships stand, what moved in the last 7 days, "
    "the follow-ups overdue and the commitments, with links to the overview.": (
        "Chaque semaine\u00a0: où en sont les partenariats de chaque projet, ce qui a bougé "
        "ces 7 derniers jours, les suivis en retard et les engagements, avec des liens vers "
        "la vue d’ensemble."
    ),
    "You receive it.": "Vous la recevez.",
    "You do not receive it; it needs an e-mail address on your account.": (
        "Vous ne la recevez pas\u00a0: il faut une adresse électronique sur votre compte."
    ),
    "You do not receive it.": "Vous ne la recevez pas.",
    "Save my choice": "Enregistrer mon choix",
    # templates/emails/weekly_summary.txt, .html
    "Where the projects stand on %(date)s, and what moved since %(since)s.": (
        "Où en sont les projets le %(date)s, et ce qui a bougé depuis le %(since)s."
    ),
    ("%(count)s partner", "%(count)s partners"): ("%(count)s partenaire", "%(count)s partenaires"),
    "By stage:": "Par étape\u00a0:",
    "In the last %(days)s days:": "Ces %(days)s derniers jours\u00a0:",
    ("%(count)s open follow-up", "%(count)s open follow-ups"): (
        "%(count)s suivi ouvert",
        "%(count)s suivis ouverts",
    ),
    "The whole overview:": "Toute la vue d’ensemble\u00a0:",
    "Open the overview": "Ouvrir la vue d’ensemble",
    "Compact CRM. You get this summary every week because your staff profile asks for it "
    "(Coordination receives it unless they say no). Change it there:": (
        "CRM Compact. Vous recevez cette synthèse chaque semaine parce que votre profil la "
        "demande (la Coordination la reçoit sauf si elle la refuse). Modifiez ce choix ici\u00a0:"
    ),
}
