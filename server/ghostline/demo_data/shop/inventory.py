"""A tiny shop inventory: items, stock levels and prices."""

from dataclasses import dataclass


@dataclass
class Item:
    name: str
    price: float
    quantity: int


def total_value(items: list[Item]) -> float:
    """Return the value of all items in stock (price times quantity)."""
    return sum(item.price * item.quantity for item in items)


def restock(item: Item, amount: int) -> Item:
    if amount < 0:
        raise ValueError("amount must not be negative")
    return Item(item.name, item.price, item.quantity + amount)


def find_item(items: list[Item], name: str) -> Item | None:
    """Return the first item called `name`, or None."""
    for item in items:
        if item.name == name:
            return item
    return None
