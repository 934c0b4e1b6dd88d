"""pandera's pandas API, imported once for the validation modules.

When PySpark is installed (the ``spark`` extra), pandera tries to import
pyspark.pandas -- at import and again when its built-in checks first load --
and pyspark.pandas warns about pandas 3 each time. riskscreen does not use
pandera on Spark, so the warning would only confuse its users: both imports
happen here, once, with it silenced.
"""

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=FutureWarning, module="pyspark")
    import pandera.backends.pandas.builtin_checks  # noqa: F401
    import pandera.pandas as pa

__all__ = ["pa"]
