"""Shopping cart arithmetic."""

from inventory import Item


def subtotal(items: list[Item]) -> float:
    """Sum of price times quantity over all items."""
    return 


def apply_discount(amount: float, percent: float) -> float:
    """Reduce `amount` by `percent` per cent."""
    

def count_items(items: list[Item]) -> int:
    total = 0
    for item in items:
        total += 
    return total
