"""Speed machinery, nothing domain-specific: the content-hash cache (``cache``) and work in
the background (``parallel``). The runner and its steps use it; the stages (ingest, segment,
nlp, classify, compare, report, export) never import it."""
