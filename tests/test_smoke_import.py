def test_import():
    import flowc.compiler.ir
    import flowc.dsl.ast  # noqa: F401
