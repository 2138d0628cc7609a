"""The words of the reconciliation report, in French and in English: one language per report, chosen
by the request. Reasons are stored as codes with their facts (`Reason`) and said in the report's
language only when it is written; what the ERP itself answered is quoted as it came."""

from dataclasses import dataclass, field

from app.templating import Lang

ReportLang = Lang  # the languages of every printed document

REASONS: dict[str, dict[ReportLang, str]] = {
    "not_sent_yet": {"fr": "pas encore envoyé à l'ERP", "en": "not sent to the ERP yet"},
    "retrying": {
        "fr": "nouvel essai prévu ; dernière réponse : « {error} »",
        "en": "to be tried again; last answer: “{error}”",
    },
    "waiting_for": {"fr": "attend {documents}", "en": "waiting for {documents}"},
    "refused": {
        "fr": "refusé par l'ERP : « {error} » ; à corriger puis renvoyer, ou à résoudre à la main",
        "en": "refused by the ERP: “{error}”; correct and send again, or resolve by hand",
    },
    "gave_up": {
        "fr": "abandonné après {attempts} essais ; dernière réponse : « {error} » ; à renvoyer ou "
        "résoudre à la main",
        "en": "given up after {attempts} attempts; last answer: “{error}”; send again or resolve by hand",
    },
    "no_invoice_to_correct": {
        "fr": "marchandise que Carnet n'a pas livrée, sans facture ERP indiquée sur le retour : à saisir "
        "dans l'ERP contre la facture d'origine, puis à marquer saisi avec sa référence",
        "en": "goods Carnet did not deliver, and the return names no ERP invoice: key it into the ERP "
        "against the original invoice, then mark it keyed with its reference",
    },
    "excluded_by_finance": {
        "fr": "écarté du périmètre de la reprise par la comptabilité : à réintégrer ou à résoudre à la main",
        "en": "excluded from the replay's scope by finance: include it again or resolve it by hand",
    },
    "not_in_outbox": {
        "fr": "pas encore dans la file de reprise : il y entre au lancement de la prochaine reprise",
        "en": "not in the outbox yet: it enters when the next replay run starts",
    },
    "held_for_review": {
        "fr": "commande à vérifier par un commercial : reprise dès qu'elle est vérifiée",
        "en": "order waiting for a rep's review: replayed once reviewed",
    },
    "order_cancelled": {"fr": "commande annulée", "en": "order cancelled"},
    "delivery_note_void": {"fr": "bon de livraison annulé", "en": "delivery note voided"},
    "voided": {"fr": "annulé : {why}", "en": "voided: {why}"},
    "cancelled_by_person": {
        "fr": "écarté de la reprise par {who} : {why}",
        "en": "left out of the replay by {who}: {why}",
    },
    "cancelled_after_sent": {
        "fr": "commande annulée après son envoi à l'ERP ({erp}) : à annuler dans l'ERP",
        "en": "order cancelled after it was sent to the ERP ({erp}): cancel it there",
    },
    "no_answer_yet": {"fr": "sans réponse", "en": "no answer yet"},
}

STATUSES: dict[str, dict[ReportLang, str]] = {
    "pending": {"fr": "en attente", "en": "pending"},
    "in_flight": {"fr": "en cours d'envoi", "en": "being sent"},
    "failed": {"fr": "refusé", "en": "refused"},
    "dead": {"fr": "abandonné", "en": "given up"},
    "held": {"fr": "attend une personne", "en": "waits for a person"},
    "acknowledged": {"fr": "accusé", "en": "acknowledged"},
    "cancelled": {"fr": "écarté", "en": "left out"},
    "excluded_by_finance": {
        "fr": "écarté du périmètre de la reprise par la comptabilité : à réintégrer ou à résoudre à la main",
        "en": "excluded from the replay's scope by finance: include it again or resolve it by hand",
    },
    "not_in_outbox": {"fr": "hors file", "en": "not in outbox"},
    "held_for_review": {"fr": "à vérifier", "en": "under review"},
}

KINDS: dict[str, dict[ReportLang, str]] = {
    "order": {"fr": "Commandes", "en": "Orders"},
    "invoice": {"fr": "Factures", "en": "Invoices"},
    "credit_note": {"fr": "Avoirs", "en": "Credit notes"},
}


@dataclass(frozen=True)
class Reason:
    """Why a document waits or was left out: a code of `REASONS` and the facts it is said with."""

    code: str
    facts: dict[str, str] = field(default_factory=dict)

    def say(self, lang: ReportLang) -> str:
        return REASONS[self.code][lang].format(**self.facts)


def status_label(status: str, lang: ReportLang) -> str:
    return STATUSES.get(status, {}).get(lang, status)


PDF_WORDS: dict[ReportLang, dict[str, str]] = {
    "fr": {
        "title": "Rapprochement de la reprise ERP",
        "incident": "Incident",
        "from": "du",
        "to": "au",
        "ongoing": "en cours",
        "all_documents": "tous les documents saisis",
        "run": "Reprise",
        "no_run": "aucune",
        "simulation": "simulation",
        "dry_run": "SIMULATION : cette reprise à blanc n'a rien envoyé à l'ERP. Ce rapport montre l'ERP tel "
        "qu'il est, sans elle ; ce n'est pas le rapprochement d'une reprise.",
        "numbering": "Numérotation des factures",
        "numbering_erp": "par l'ERP",
        "numbering_carnet": "par Carnet (série réservée à l'incident)",
        "grouping": "Regroupement",
        "grouping_per_note": "une facture par bon de livraison",
        "grouping_recap": "une facture récapitulative par client et par mois",
        "balanced": "Rapprochement équilibré : l'ERP détient tout ce que Carnet a saisi et rien n'attend.",
        "not_balanced": "Rapprochement NON équilibré : des documents attendent encore, voir ci-dessous.",
        "by_kind": "Totaux par nature",
        "kind": "Nature",
        "customer": "Client",
        "captured": "Saisi dans Carnet",
        "acknowledged": "Accusé par l'ERP",
        "difference": "Écart",
        "count": "Nb",
        "net": "HT",
        "vat": "TVA",
        "gross": "TTC",
        "vat_rate": "TVA",
        "waiting": "Ce qui attend encore",
        "erp_check": "Contrôle des références ERP",
        "erp_check_line": "{acknowledged} documents accusés, {referenced} avec leur référence ERP.",
        "missing_reference": "Sans référence :",
        "twice": "Références données deux fois :",
        "outstanding": "Documents en attente",
        "excluded": "Documents écartés de la reprise par une personne",
        "keyed": "Documents saisis à la main dans l'ERP",
        "per_customer": "Détail par client",
        "reference": "Référence",
        "status": "État",
        "attempts": "Essais",
        "reason": "Motif",
        "erp_reference": "Référence ERP",
        "by": "Par",
        "none": "Aucun.",
        "footer": "Carnet · rapprochement établi le",
        "page": "page",
    },
    "en": {
        "title": "ERP replay reconciliation",
        "incident": "Incident",
        "from": "from",
        "to": "to",
        "ongoing": "ongoing",
        "all_documents": "every captured document",
        "run": "Replay run",
        "no_run": "none",
        "simulation": "dry run",
        "dry_run": "DRY RUN: this replay sent nothing to the ERP. This report shows the ERP as it stands "
        "without it; it is not the reconciliation of a replay.",
        "numbering": "Invoice numbering",
        "numbering_erp": "by the ERP",
        "numbering_carnet": "by Carnet (series reserved for the incident)",
        "grouping": "Grouping",
        "grouping_per_note": "one invoice per delivery note",
        "grouping_recap": "one recap invoice per customer and month",
        "balanced": "Reconciliation balanced: the ERP holds everything Carnet captured and nothing waits.",
        "not_balanced": "Reconciliation NOT balanced: documents still wait, see below.",
        "by_kind": "Totals per kind",
        "kind": "Kind",
        "customer": "Customer",
        "captured": "Captured in Carnet",
        "acknowledged": "Acknowledged by the ERP",
        "difference": "Difference",
        "count": "No.",
        "net": "Net",
        "vat": "VAT",
        "gross": "Gross",
        "vat_rate": "VAT",
        "waiting": "What still waits",
        "erp_check": "ERP reference check",
        "erp_check_line": "{acknowledged} documents acknowledged, {referenced} with their ERP reference.",
        "missing_reference": "Without a reference:",
        "twice": "References given twice:",
        "outstanding": "Documents waiting",
        "excluded": "Documents left out of the replay by a person",
        "keyed": "Documents keyed into the ERP by hand",
        "per_customer": "Per customer",
        "reference": "Reference",
        "status": "Status",
        "attempts": "Attempts",
        "reason": "Reason",
        "erp_reference": "ERP reference",
        "by": "By",
        "none": "None.",
        "footer": "Carnet · reconciliation made on",
        "page": "page",
    },
}
