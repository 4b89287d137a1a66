"""Front ends: the .flow parser and the Python builder, both lowering to the IR."""
