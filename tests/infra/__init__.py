"""Infrastructure tests: the Pulumi stack under mocks and moto, deploy tooling, packaging."""
