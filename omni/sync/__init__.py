"""Channel sync: the connector framework that pulls and pushes channel feeds."""
