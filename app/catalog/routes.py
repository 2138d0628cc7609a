from fastapi import APIRouter

from app.api import ReadSession, Writes
from app.auth.dependencies import CurrentActor
from app.auth.models import Role
from app.catalog import service
from app.catalog.schemas import CustomerCreate, CustomerRead, ProductCreate, ProductRead
from app.pagination import Cursor, Limit, Page, decode_cursor

router = APIRouter(tags=["master data"])


@router.post("/customers", status_code=201)
async def save_customer(body: CustomerCreate, actor: CurrentActor, writes: Writes) -> CustomerRead:
    actor.require(Role.ADMIN)
    return await writes.write(
        lambda session: service.customer_read(service.save_customer(session, data=body, actor=actor))
    )


@router.get("/customers/{code}")
def get_customer(code: str, session: ReadSession, actor: CurrentActor) -> CustomerRead:
    return service.customer_read(service.get_customer(session, code=code, actor=actor))


@router.get("/customers")
def list_customers(
    session: ReadSession, actor: CurrentActor, q: str | None = None, limit: Limit = 50, cursor: Cursor = None
) -> Page[CustomerRead]:
    return service.list_customers(session, actor=actor, q=q, after_id=decode_cursor(cursor), limit=limit)


@router.post("/products", status_code=201)
async def save_product(body: ProductCreate, actor: CurrentActor, writes: Writes) -> ProductRead:
    actor.require(Role.ADMIN)
    return await writes.write(
        lambda session: service.product_read(service.save_product(session, data=body, actor=actor))
    )


@router.get("/products/{code}")
def get_product(code: str, session: ReadSession, actor: CurrentActor) -> ProductRead:
    return service.product_read(service.get_product(session, code=code, actor=actor))


@router.get("/products")
def list_products(
    session: ReadSession, actor: CurrentActor, q: str | None = None, limit: Limit = 50, cursor: Cursor = None
) -> Page[ProductRead]:
    return service.list_products(session, q=q, after_id=decode_cursor(cursor), limit=limit, actor=actor)
