"""French translations of the strings added by issue 23 (export jobs), for the lead to merge."""

NNBSP = "\u202f"  # narrow no-break space, before : ; ? !

T = {
    ("The file is ready: %(rows)s row.", "The file is ready: %(rows)s rows."): (
        f"Le fichier est prêt{NNBSP}: %(rows)s ligne.",
        f"Le fichier est prêt{NNBSP}: %(rows)s lignes.",
    ),
    "Download %(name)s": "Télécharger %(name)s",
    (
        "The file is kept %(days)s day; only you and Coordination can download it.",
        "The file is kept %(days)s days; only you and Coordination can download it.",
    ): (
        f"Le fichier est conservé %(days)s jour{NNBSP}; seuls vous et la Coordination "
        "pouvez le télécharger.",
        f"Le fichier est conservé %(days)s jours{NNBSP}; seuls vous et la Coordination "
        "pouvez le télécharger.",
    ),
    "The export failed.": "L’export a échoué.",
    "Ask for it again from the list; if it fails again, tell Coordination.": (
        f"Demandez-le de nouveau depuis la liste{NNBSP}; s’il échoue encore, "
        "prévenez la Coordination."
    ),
    (
        "The file is being prepared; this page follows its progress and shows the link once "
        "it is written. You may leave it: an e-mail tells you when it is ready."
    ): (
        f"Le fichier est en préparation{NNBSP}; cette page suit sa progression et affiche le "
        f"lien dès qu’il est écrit. Vous pouvez la quitter{NNBSP}: un e-mail vous prévient "
        "quand il est prêt."
    ),
    "Waiting for a worker…": "En attente d’un processus de travail…",
    "%(done)s rows of %(total)s written": "%(done)s lignes écrites sur %(total)s",
    "about %(minutes)s min %(seconds)s s left": "encore environ %(minutes)s min %(seconds)s s",
    "about %(seconds)s s left": "encore environ %(seconds)s s",
    (
        "Your export %(name)s is ready (%(rows)s row).",
        "Your export %(name)s is ready (%(rows)s rows).",
    ): (
        "Votre export %(name)s est prêt (%(rows)s ligne).",
        "Votre export %(name)s est prêt (%(rows)s lignes).",
    ),
    (
        "It is kept %(days)s day, for you and Coordination only:",
        "It is kept %(days)s days, for you and Coordination only:",
    ): (
        f"Il est conservé %(days)s jour, pour vous et la Coordination seulement{NNBSP}:",
        f"Il est conservé %(days)s jours, pour vous et la Coordination seulement{NNBSP}:",
    ),
    "Your export %(name)s failed:": f"Votre export %(name)s a échoué{NNBSP}:",
    "Your export “%(file)s” is ready": f"Votre export «{NNBSP}%(file)s{NNBSP}» est prêt",
    "Your export “%(file)s” failed": f"Votre export «{NNBSP}%(file)s{NNBSP}» a échoué",
    (
        "More rows than the server answers at once: a job writes the file. The Location "
        "header gives the job's address (/api/v1/jobs/<id>/), whose “download” is the file "
        "once “status” is “done”."
    ): (
        "Plus de lignes que le serveur n’en répond d’un coup\u202f: une tâche écrit le fichier. "
        "L’en-tête Location donne l’adresse de la tâche (/api/v1/jobs/<id>/), dont "
        "«\u202fdownload\u202f» est le fichier une fois «\u202fstatus\u202f» à "
        "«\u202fdone\u202f»."
    ),
    "waiting": "en attente",
    "being written": "en cours d’écriture",
    "ready": "prêt",
    "failed": "échoué",
    "requested by": "demandé par",
    "asked at": "demandé le",
    "format": "format",
    "permission needed": "permission requise",
    "sheet title": "titre de la feuille",
    "rows to write": "lignes à écrire",
    "rows written": "lignes écrites",
    "task": "tâche",
    "started at": "commencé le",
    "last progress at": "dernière progression le",
    "finished at": "terminé le",
    "file in storage": "fichier dans le stockage",
    "export job": "export en tâche de fond",
    "export jobs": "exports en tâche de fond",
}
