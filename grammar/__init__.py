"""The .flow grammar, loaded with Lark.open_from_package."""
