"""Export stage: the outputs other tools open — ``workbook`` (cpas-compare.xlsx, openpyxl) and
``qdpx`` (REFI-QDA project for QualCoder, MAXQDA, NVivo, ATLAS.ti; and its import back into
annotations.csv). The CSV + Parquet tables are written by ``pipeline.io.write_table``; the
list of tables is ``pipeline/data/tables.toml`` (``pipeline.models.TABLES``)."""
