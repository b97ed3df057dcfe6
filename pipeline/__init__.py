"""ETL for Chicago shooting-victim records: source -> validated records -> store -> queries."""
