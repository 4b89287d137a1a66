"""Testing helpers users can import: hypothesis strategies, a reference evaluator, differential runs."""
