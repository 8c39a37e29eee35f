"""French translations of the strings added for issue 22 (search bounded by a cap)."""

T = {
    "more than %(count)s": "plus de %(count)s",
    "The %(shown)s best of more than %(count)s matches: a more precise query narrows them.": (
        "Les %(shown)s meilleurs de plus de %(count)s résultats\u202f: "
        "une recherche plus précise les réduit."
    ),
    "The %(shown)s best of %(count)s matches: a more precise query narrows them.": (
        "Les %(shown)s meilleurs de %(count)s résultats\u202f: "
        "une recherche plus précise les réduit."
    ),
    "more than %(count)s %(name)s": "plus de %(count)s %(name)s",
    "more than %(count)s results": "plus de %(count)s résultats",
    # Django's own admin strings, in the copies of its pagination and search
    # form (templates/admin/): Django's French.
    "Show all": "Tout afficher",
    ("%(counter)s result", "%(counter)s results"): (
        "%(counter)s résultat",
        "%(counter)s résultats",
    ),
    "%(full_result_count)s total": "%(full_result_count)s résultats",
}
