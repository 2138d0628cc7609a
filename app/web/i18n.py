"""French first, English available: templates write their French text and `t()` gives the English
when the person chose it (a missing translation shows the French, never a key)."""

from collections.abc import Callable
from typing import Final

from fastapi import Request

from app.templating import DEFAULT_LANG, Lang
from app.web.session import LANG_COOKIE

ENGLISH: Final[dict[str, str]] = {
    "Accepter la commande": "Accept the order",
    "Actions": "Actions",
    "Adresse de livraison": "Shipping address",
    "Adresse de facturation": "Billing address",
    "Ajouter": "Add",
    "Annuler la commande": "Cancel the order",
    "Article (code, EAN/ISBN ou titre)": "Item (code, EAN/ISBN or title)",
    "Avertissements": "Warnings",
    "Bloqué : aucune commande ne peut être prise": "Blocked: no order may be taken",
    "Bons de livraison": "Delivery notes",
    "Canal": "Channel",
    "Client": "Customer",
    "Client (code, nom, ville ou code postal)": "Customer (code, name, city or postal code)",
    "Code": "Code",
    "Commande": "Order",
    "Commande enregistrée": "Order recorded",
    "Commandes": "Orders",
    "Commandes à expédier": "Orders to ship",
    "Commandes récentes": "Recent orders",
    "Connexion": "Sign in",
    "Date": "Date",
    "Déconnexion": "Sign out",
    "Désignation": "Description",
    "Documents différés": "Deferred documents",
    "Données ERP du": "ERP data as of",
    "Email du client (collé tel quel)": "The customer's email (pasted as received)",
    "Enregistrer la commande": "Record the order",
    "Entrepôt": "Warehouse",
    "Expédié": "Shipped",
    "Expédier": "Ship",
    "Expédier tout": "Ship everything",
    "Expéditions": "Shipments",
    "Finance": "Finance",
    "Identifiant": "Username",
    "Imprimer": "Print",
    "Imprimer les BL du jour": "Print today's delivery notes",
    "Lien de suivi pour le client": "Status link for the customer",
    "Lignes": "Lines",
    "Montant HT": "Net amount",
    "Mot de passe": "Password",
    "Nouveau lien": "New link",
    "Nouvelle commande": "New order",
    "Aperçu": "Preview",
    "Problèmes": "Problems",
    "P.U.": "Unit price",
    "Qté": "Qty",
    "Quantité": "Quantity",
    "Référence client": "Customer reference",
    "Reliquats": "Backorders",
    "Remise": "Discount",
    "Reprise dans l'ERP": "Replay into the ERP",
    "Rechercher": "Search",
    "Retirer": "Remove",
    "Saisie de commande": "Order entry",
    "Simulation de reprise": "Dry replay run",
    "Lancer la reprise": "Start the replay",
    "Statut": "Status",
    "Suivi de commande": "Order status",
    "Téléphone": "Phone",
    "Total HT": "Net total",
    "Total TTC": "Total incl. VAT",
    "TVA": "VAT",
    "Annulé": "Cancelled",
    "En attente (reliquat)": "Waiting (backorder)",
    "Commandé": "Ordered",
    "Rapprochement": "Reconciliation",
    "Aucune commande": "No order",
    "Aucun document": "No document",
    "Lire le numéro au client": "Read the number to the customer",
    "Raccourcis : Entrée ajoute la ligne, Ctrl+Entrée enregistre la commande, Échap ferme la liste.": (
        "Shortcuts: Enter adds the line, Ctrl+Enter records the order, Esc closes the list."
    ),
    "Cette page n'est pas pour votre rôle.": "This page is not for your role.",
    "Page introuvable.": "Page not found.",
    "Retour à l'accueil": "Back to the start page",
    "ERP indisponible": "ERP down",
    "Nombre": "Count",
    "Par type et statut": "By kind and status",
    "Exécutions": "Runs",
    "Montants saisis par jour": "Amounts captured per day",
    "Sans suite": "Not shipped",
    "Livrée le": "Delivered on",
    "Votre commande": "Your order",
    "Seraient envoyés": "Would be sent",
    "Attendent une personne": "Waiting for a person",
    "Impressions": "Prints",
    "Retours": "Returns",
    "Retour": "Return",
    "Retour enregistré": "Return recorded",
    "Nouveau retour": "New return",
    "Enregistrer le retour": "Record the return",
    "Bon de livraison (si connu)": "Delivery note (when known)",
    "Motif": "Reason",
    "Article": "Item",
    "Avoir différé": "Deferred credit note",
    "Facture corrigée": "Invoice corrected",
    "Administration": "Administration",
    "Enregistré": "Saved",
    "Stock insuffisant": "Not enough stock",
    "disponible(s) pour": "available for",
    "commandé(s) ; le reste partira en reliquat": "ordered; the rest will be backordered",
    "Doublon possible : ce client a déjà": "Possible duplicate: this customer already has",
    "Clé API du partenaire, affichée une seule fois : copiez-la maintenant.": (
        "The partner's API key, shown once only: copy it now."
    ),
    "Incident et mode": "Incident and mode",
    "L'ERP est revenu : terminer l'incident": "The ERP is back: end the incident",
    "Cause": "Cause",
    "Début (jj/mm/aaaa hh:mm, vide : maintenant)": "Start (dd/mm/yyyy hh:mm, empty: now)",
    "Déclarer un incident": "Declare an incident",
    "Importer des données ERP": "Import ERP data",
    "Dernier import": "Latest import",
    "Fichier CSV ou JSON": "CSV or JSON file",
    "Données au (jj/mm/aaaa hh:mm, vide : maintenant)": "Data as of (dd/mm/yyyy hh:mm, empty: now)",
    "Importer": "Import",
    "lignes importées": "rows imported",
    "créées": "created",
    "mises à jour": "updated",
    "refusées": "refused",
    "Utilisateurs": "Users",
    "Rôle": "Role",
    "Créer": "Create",
    "Partenaires EDI": "EDI partners",
    "Nom": "Name",
    "Codes clients (séparés par des espaces)": "Customer codes (separated by spaces)",
}


# Codes the service stores (statuses, kinds, channels), as people read them.
LABELS: Final[dict[Lang, dict[str, str]]] = {
    "fr": {
        "captured": "saisie",
        "needs_review": "à vérifier",
        "partially_shipped": "expédiée en partie",
        "shipped": "expédiée",
        "cancelled": "annulée",
        "pending": "en attente",
        "in_replay": "en reprise",
        "replayed": "reprise",
        "void": "annulé",
        "issued": "émis",
        "running": "en cours",
        "completed": "terminée",
        "incomplete": "incomplète",
        "failed": "en échec",
        "abandoned": "abandonnée",
        "invoice": "facture",
        "credit_note": "avoir",
        "order": "commande",
        "phone": "téléphone",
        "email": "email",
        "edi": "EDI",
        "web": "web",
        "api": "API",
        "degraded": "ERP en panne",
        "recovering": "reprise en cours",
        "normal": "normal",
        "customers": "clients",
        "products": "articles",
        "stock": "stock",
    },
    "en": {
        "captured": "captured",
        "needs_review": "needs review",
        "partially_shipped": "partly shipped",
        "in_replay": "being replayed",
        "credit_note": "credit note",
        "degraded": "ERP down",
    },
}


def labeller(lang: Lang) -> Callable[[str], str]:
    labels = LABELS[lang]
    return lambda code: labels.get(code, code.replace("_", " "))


def lang_of(request: Request) -> Lang:
    return "en" if request.cookies.get(LANG_COOKIE) == "en" else DEFAULT_LANG


def translator(lang: Lang) -> Callable[[str], str]:
    if lang == "en":
        return lambda text: ENGLISH.get(text, text)
    return lambda text: text
