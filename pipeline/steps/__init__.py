"""The steps of a run, between the stages and the runner: each calls one stage (or a few),
with the cache and the background work of ``pipeline.engine``: ``read`` (ingest, segment,
nlp), ``themes`` (classify), ``write`` (outputs and summary), ``evaluation`` (make evaluate).
Only ``pipeline.runner`` and the CLI import them."""
