from inventory import Item, total_value


def test_total_value_of_empty_inventory_is_zero():
    assert total_value([]) == 0


def test_total_value_multiplies_price_and_quantity():
    assert total_value([Item("pen", 1.5, 4)]) == 6.0
