"""Trust and safety rules beyond IPWHL: confusable names, licences, wheel validity.

Pure functions over names, metadata and wheel files; the check families in
``wheelset.checks`` turn their results into findings.
"""
