"""Demo data: the master data and orders of a French distributor of books and electronics.

Deterministic for a given seed (one `random.Random`), and valid for the same rules as an import:
customers and products go through `CustomerCreate` / `ProductCreate` and the bulk writers of
`app.catalog.bulk`; orders go through `capture_order`, as a rep would take them.

- customers: bookshops, shop chains and electronics resellers all over France, with French VAT
  numbers (SIREN with its Luhn digit, key computed), GLNs, one to four shipping addresses (some with a
  GLN), a few blocked, discounts from 0 to 40 %;
- products: books (ISBN-13 978-2-..., fixed public price VAT included at 5.5 %, price locked) and
  electronics (EAN-13, net price at 20 %), some cables sold by the metre; stock, some of it zero.
"""

import random
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum import ean, luhn

from app.auth.models import Role, User
from app.auth.service import Actor, create_user
from app.catalog.bulk import upsert_customers, upsert_products
from app.catalog.models import Customer
from app.catalog.schemas import Address, CustomerCreate, ProductCreate, ShippingAddressIn
from app.clock import utcnow
from app.orders.capture import capture_order
from app.orders.models import Channel
from app.orders.schemas import OrderCreate, OrderLineCreate

DEFAULT_CUSTOMERS = 300
DEFAULT_PRODUCTS = 3_000
DEFAULT_ORDERS = 200
DEFAULT_SEED = 2026

DEMO_LOGINS: dict[str, str] = {role.value: f"carnet-{role.value}-2026" for role in Role}
"""Username (named after its role) -> password of the demo users."""

CITIES = (
    ("Paris", "75005"),
    ("Paris", "75011"),
    ("Paris", "75014"),
    ("Lyon", "69002"),
    ("Lyon", "69007"),
    ("Marseille", "13001"),
    ("Toulouse", "31000"),
    ("Bordeaux", "33000"),
    ("Nantes", "44000"),
    ("Lille", "59000"),
    ("Strasbourg", "67000"),
    ("Montpellier", "34000"),
    ("Rennes", "35000"),
    ("Grenoble", "38000"),
    ("Dijon", "21000"),
    ("Angers", "49100"),
    ("Tours", "37000"),
    ("Rouen", "76000"),
    ("Caen", "14000"),
    ("Brest", "29200"),
    ("Clermont-Ferrand", "63000"),
    ("Limoges", "87000"),
    ("Poitiers", "86000"),
    ("Nancy", "54000"),
    ("Metz", "57000"),
    ("Reims", "51100"),
    ("Amiens", "80000"),
    ("Besançon", "25000"),
    ("Orléans", "45000"),
    ("Nice", "06000"),
    ("Avignon", "84000"),
    ("Pau", "64000"),
    ("Bayonne", "64100"),
    ("Annecy", "74000"),
    ("Chambéry", "73000"),
    ("La Rochelle", "17000"),
    ("Perpignan", "66000"),
    ("Nîmes", "30000"),
    ("Le Mans", "72000"),
    ("Quimper", "29000"),
)
STREETS = (
    "rue Victor Hugo",
    "rue de la République",
    "avenue Jean Jaurès",
    "boulevard Gambetta",
    "rue des Carmes",
    "place du Marché",
    "rue Nationale",
    "quai des Chartrons",
    "rue du Commerce",
    "rue Saint-Martin",
    "avenue de la Gare",
    "rue des Halles",
    "rue Pasteur",
    "cours Mirabeau",
    "rue de la Paix",
    "impasse des Tilleuls",
    "chemin des Vignes",
    "rue Émile Zola",
    "allée des Artisans",
    "rue du Port",
)
ZONES = ("ZI des Sablons", "ZA du Moulin", "Parc d'activités de la Lande", "ZAC des Portes", "ZI Nord")
SURNAMES = (
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefèvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "André",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "François",
    "Martinez",
    "Legrand",
)
FIRST_NAMES = (
    "Claire",
    "Julien",
    "Sophie",
    "Antoine",
    "Camille",
    "Lucas",
    "Élodie",
    "Hugo",
    "Manon",
    "Louis",
    "Inès",
    "Paul",
    "Chloé",
    "Théo",
    "Léa",
    "Nicolas",
    "Anne",
    "Mathieu",
    "Sarah",
    "Olivier",
)
BOOKSHOP_NAMES = (
    "La Plume",
    "Le Bateau Livre",
    "L'Écume des Pages",
    "Le Chat Lettré",
    "Les Mots Passants",
    "Au Fil des Pages",
    "Le Marque-Page",
    "La Boîte à Livres",
    "Les Vagabonds",
    "L'Île aux Livres",
    "La Grande Ourse",
    "Le Livre Ouvert",
    "Les Buveurs d'Encre",
    "La Page Blanche",
    "Le Temps de Lire",
    "L'Arbre à Lettres",
    "Les Herbes Folles",
    "La Licorne",
    "Le Square",
    "Les Cahiers du Sud",
)
CHAINS = ("Lireo", "Culturama", "Pages & Cie", "Espace Lecture", "MédiaPôle")
ELECTRONICS_PATTERNS = (
    "{surname} Informatique",
    "Électro {city}",
    "Hi-Fi Center {city}",
    "Numérik {city}",
    "{city} Micro Services",
    "Connect'{city}",
    "Ets {surname} & Fils",
    "Audio Vidéo {surname}",
)
TITLE_PATTERNS = (
    "{le} {noun} de {place}",
    "Les Secrets de {place}",
    "Le Dernier {noun_m}",
    "Histoire de {place}",
    "Une saison à {city}",
    "{le} {noun} et l'Oubli",
    "Petit traité de {topic}",
    "{topic_cap}, mode d'emploi",
    "Carnets de {place}",
    "L'Été de {place}",
    "Cuisine de {place}",
    "Voyage au bout de {place}",
)
NOUNS = (
    ("Jardin", "m"),
    ("Maison", "f"),
    ("Rivière", "f"),
    ("Silence", "m"),
    ("Nuit", "f"),
    ("Voyageur", "m"),
    ("Lumière", "f"),
    ("Secret", "m"),
    ("Promesse", "f"),
    ("Phare", "m"),
    ("Forêt", "f"),
    ("Horloger", "m"),
)
PLACES = (
    "la Loire",
    "la mer",
    "Lisbonne",
    "Provence",
    "la montagne",
    "Bretagne",
    "l'hiver",
    "la ville",
    "Venise",
    "la forêt",
    "Marseille",
    "l'Atlantique",
)
TOPICS = (
    "la patience",
    "jardinage",
    "la photographie",
    "la marche",
    "la cuisine lyonnaise",
    "l'astronomie",
    "la typographie",
    "la pêche à la mouche",
)
BOOK_PRICES = (
    "6.90",
    "7.50",
    "8.90",
    "9.90",
    "12.00",
    "14.90",
    "16.50",
    "18.00",
    "19.90",
    "21.00",
    "22.90",
    "24.50",
    "29.00",
    "35.00",
    "45.00",
)
BRANDS = ("Voltéo", "Arkane", "Lumio", "Zéphyr", "Nordik", "Kestrel")
ELECTRONICS = (
    # name template, low price, high price (net, euros)
    ("Câble HDMI 2.1 {m} m", 6, 25),
    ("Chargeur USB-C {w} W", 15, 55),
    ("Casque Bluetooth {brand} {model}", 35, 220),
    ("Clavier sans fil AZERTY {brand}", 18, 90),
    ("Souris optique {brand} {model}", 8, 60),
    ("Enceinte portable {brand} {model}", 25, 180),
    ("Disque SSD {go} Go", 35, 240),
    ("Clé USB {go} Go", 5, 45),
    ("Carte microSD {go} Go", 7, 60),
    ("Batterie externe {mah} mAh", 15, 70),
    ("Multiprise parafoudre {n} prises", 12, 45),
    ("Webcam HD 1080p {brand}", 25, 110),
    ("Liseuse {brand} {model} 6 pouces", 80, 220),
    ("Lampe de lecture LED {brand}", 9, 35),
    ("Routeur Wi-Fi 6 {brand} {model}", 45, 260),
)
BY_THE_METRE = (
    ("Câble coaxial RG6, au mètre", "0.85"),
    ("Câble réseau Cat. 6 U/UTP, au mètre", "0.62"),
    ("Câble haut-parleur 2 x 1,5 mm², au mètre", "1.15"),
    ("Gaine tressée 20 mm, au mètre", "1.90"),
)
PHONE_REGIONS = {"7": "1", "6": "4", "1": "4", "3": "5", "4": "2", "5": "3", "2": "3", "8": "5"}


@dataclass(frozen=True)
class DemoSummary:
    customers: int
    products: int
    orders: int
    users_created: int


def check_digit_gtin(body: str) -> str:
    """A GTIN (EAN-13, ISBN-13, GLN) from its first digits and its computed check digit."""
    return body + ean.calc_check_digit(body)


def french_vat_number(siren: str) -> str:
    """FR + 2-digit key + SIREN; the key is (12 + 3 x (SIREN mod 97)) mod 97."""
    return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"


def random_siren(rng: random.Random) -> str:
    body = f"{rng.randint(30_000_000, 99_999_999)}"
    return body + luhn.calc_check_digit(body)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def _street(rng: random.Random) -> str:
    return f"{rng.randint(1, 180)} {rng.choice(STREETS)}"


def _phone(rng: random.Random, postal_code: str) -> str:
    region = PHONE_REGIONS.get(postal_code[0], "2")
    return f"0{region} " + " ".join(f"{rng.randint(0, 99):02d}" for _ in range(4))


def demo_customers(rng: random.Random, count: int) -> list[CustomerCreate]:
    gln_serial = iter(range(1, 10**7))
    customers = []
    for n in range(1, count + 1):
        city, postal_code = rng.choice(CITIES)
        kind = rng.choices(("bookshop", "chain", "electronics"), weights=(55, 12, 33))[0]
        if kind == "bookshop":
            name = rng.choice(
                (
                    f"Librairie {rng.choice(BOOKSHOP_NAMES)}",
                    rng.choice(BOOKSHOP_NAMES),
                    f"Librairie {rng.choice(SURNAMES)}",
                    f"Librairie-Papeterie {rng.choice(SURNAMES)}",
                )
            )
            discount = Decimal(rng.choice((25, 28, 30, 30, 33, 35)))
        elif kind == "chain":
            name = f"{rng.choice(CHAINS)} {city}"
            discount = Decimal(rng.choice((35, 36, 38, 40)))
        else:
            name = rng.choice(ELECTRONICS_PATTERNS).format(surname=rng.choice(SURNAMES), city=city)
            discount = Decimal(rng.choice(("0", "0", "0", "5", "7.5", "10", "12", "15")))
        has_gln = kind == "chain" or rng.random() < 0.4
        addresses = [
            ShippingAddressIn(
                code="LIV1",
                name=name,
                street=_street(rng),
                postal_code=postal_code,
                city=city,
                country="FR",
                is_default=True,
            )
        ]
        for index in range(2, rng.choices((1, 2, 3, 4), weights=(55, 25, 12, 8))[0] + 1):
            other_city, other_postal = rng.choice(CITIES)
            depot = rng.random() < 0.4
            addresses.append(
                ShippingAddressIn(
                    code=f"LIV{index}",
                    name=f"{name} — {'entrepôt' if depot else 'magasin'} {other_city}",
                    street=rng.choice(ZONES) if depot else _street(rng),
                    postal_code=other_postal,
                    city=other_city,
                    country="FR",
                    gln=check_digit_gtin(f"3012{next(gln_serial):08d}") if depot else None,
                )
            )
        customers.append(
            CustomerCreate(
                code=f"C{n:05d}",
                name=name,
                vat_number=french_vat_number(random_siren(rng)) if rng.random() < 0.95 else None,
                gln=check_digit_gtin(f"3012{next(gln_serial):08d}") if has_gln else None,
                email=f"{rng.choice(('contact', 'commandes', 'compta'))}@{_slug(name)}.fr",
                phone=_phone(rng, postal_code),
                billing_address=Address(
                    name=f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}",
                    street=_street(rng),
                    postal_code=postal_code,
                    city=city,
                    country="FR",
                ),
                shipping_addresses=addresses,
                discount_percent=discount,
                blocked=n % 40 == 7,  # a few, always the same
                show_prices_on_delivery_note=rng.random() < 0.8,
            )
        )
    return customers


def _book_title(rng: random.Random) -> str:
    noun, gender = rng.choice(NOUNS)
    topic = rng.choice(TOPICS)
    title = rng.choice(TITLE_PATTERNS).format(
        le="Le" if gender == "m" else "La",
        noun=noun,
        noun_m=rng.choice([n for n, g in NOUNS if g == "m"]),
        place=rng.choice(PLACES),
        city=rng.choice(CITIES)[0],
        topic=topic,
        topic_cap=topic.capitalize(),
    )
    return f"{title} — {rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"


# The demo's publishers (ISBN prefix 978-2-NN): invented names, each a supplier of its titles.
PUBLISHERS: dict[int, str] = {
    36: "Éditions du Phare",
    37: "Atelier de la Marge",
    38: "Presses de la Loire",
    49: "Livres du Vent",
}
DEMO_SUPPLIER = "EDITIONS-DU-PHARE"  # the demo `supplier` login reads this publisher's titles


def demo_products(rng: random.Random, count: int) -> list[ProductCreate]:
    products = []
    publishers = tuple(PUBLISHERS)
    for n in range(1, count + 1):
        stock = Decimal(0) if rng.random() < 0.08 else Decimal(rng.randint(1, 400))
        if rng.random() < 0.65:
            publisher = rng.choice(publishers)
            isbn = check_digit_gtin(f"9782{publisher}{n:06d}")
            products.append(
                ProductCreate(
                    code=f"L{n:06d}",
                    gtin=isbn,
                    supplier_name=PUBLISHERS[publisher],
                    name=_book_title(rng),
                    unit_price=Decimal(rng.choice(BOOK_PRICES)),
                    price_includes_vat=True,
                    price_locked=True,
                    vat_rate=Decimal("5.5"),
                    stock_on_hand=stock,
                )
            )
        elif rng.random() < 0.04:
            name, price = rng.choice(BY_THE_METRE)
            products.append(
                ProductCreate(
                    code=f"E{n:06d}",
                    gtin=check_digit_gtin(f"376{n:09d}"),
                    name=name,
                    unit_price=Decimal(price),
                    vat_rate=Decimal(20),
                    allows_decimal_quantity=True,
                    stock_on_hand=stock * 5 + Decimal(rng.choice(("0", "0.5", "0.25"))),
                )
            )
        else:
            template, low, high = rng.choice(ELECTRONICS)
            name = template.format(
                m=rng.choice((1, 1.5, 2, 3, 5)),
                w=rng.choice((20, 30, 45, 65, 100)),
                brand=rng.choice(BRANDS),
                model=f"{rng.choice('AXSZ')}{rng.randint(10, 990)}",
                go=rng.choice((32, 64, 128, 256, 512, 1000)),
                mah=rng.choice((5000, 10000, 20000)),
                n=rng.choice((4, 5, 6, 8)),
            ).replace(".", ",")
            unit_price = Decimal(rng.randint(low * 100, high * 100)) / 100
            products.append(
                ProductCreate(
                    code=f"E{n:06d}",
                    gtin=check_digit_gtin(f"376{n:09d}"),
                    name=name,
                    unit_price=unit_price,
                    vat_rate=Decimal(20),
                    stock_on_hand=stock // 2,
                )
            )
    return products


def database_has_customers(session: Session) -> bool:
    return session.execute(select(Customer.id).limit(1)).first() is not None


def ensure_demo_users(session: Session) -> int:
    """One user per role, named after it, with its `DEMO_LOGINS` password; returns how many were created."""
    existing = set(session.execute(select(User.username)).scalars())
    created = 0
    for username, password in DEMO_LOGINS.items():
        if username not in existing:
            supplier = DEMO_SUPPLIER if username == Role.SUPPLIER else None
            create_user(session, username=username, password=password, role=username, supplier_code=supplier)
            created += 1
    session.flush()
    return created


def generate_demo_data(
    session: Session,
    *,
    customers: int = DEFAULT_CUSTOMERS,
    products: int = DEFAULT_PRODUCTS,
    orders: int = DEFAULT_ORDERS,
    seed: int = DEFAULT_SEED,
    as_of: datetime | None = None,
) -> DemoSummary:
    """Master data, the demo users and `orders` orders captured by the rep, in the caller's transaction."""
    rng = random.Random(seed)
    # A snapshot taken early this morning, as the last ERP export before the outage would be.
    snapshot_at = as_of or (utcnow() - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    customer_data = demo_customers(rng, customers)
    product_data = demo_products(rng, products)
    upsert_customers(session, customer_data, as_of=snapshot_at)
    upsert_products(session, product_data, as_of=snapshot_at)
    users_created = ensure_demo_users(session)
    if orders:
        rep = session.execute(select(User).where(User.username == Role.REP.value)).scalar_one()
        capture_demo_orders(
            session,
            rng,
            count=orders,
            customers=customer_data,
            products=product_data,
            actor=Actor(kind="user", id=rep.id, name=rep.username, role=rep.role),
        )
    return DemoSummary(len(customer_data), len(product_data), orders, users_created)


def capture_demo_orders(
    session: Session,
    rng: random.Random,
    *,
    count: int,
    customers: list[CustomerCreate],
    products: list[ProductCreate],
    actor: Actor,
) -> None:
    open_customers = [c for c in customers if not c.blocked]
    if not open_customers or not products:
        return
    channels = (Channel.PHONE, Channel.EMAIL, Channel.EDI, Channel.WEB)
    for _ in range(count):
        customer = rng.choice(open_customers)
        lines = []
        size = rng.choices((1, 2, 3, 5, 8), weights=(25, 30, 20, 15, 10))[0]
        for product in rng.sample(products, k=min(len(products), size)):
            if product.allows_decimal_quantity:
                quantity = Decimal(rng.choice(("2.5", "10", "12.5", "25", "50")))
            else:
                # chains order by the carton
                carton = 3 if customer.discount_percent >= 35 else 1
                quantity = Decimal(rng.choice((1, 1, 2, 3, 5, 10)) * carton)
            lines.append(OrderLineCreate(product_code=product.code, quantity=quantity))
        address = rng.choice(customer.shipping_addresses).code if customer.shipping_addresses else None
        draft = OrderCreate(
            customer_code=customer.code,
            channel=rng.choices(channels, weights=(45, 30, 15, 10))[0],
            customer_reference=f"BC-{rng.randint(10_000, 99_999)}" if rng.random() < 0.6 else None,
            shipping_address=address if rng.random() < 0.7 else None,
            lines=lines,
        )
        capture_order(session, draft=draft, actor=actor)
