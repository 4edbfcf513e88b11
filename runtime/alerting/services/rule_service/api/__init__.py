"""HTTP handlers, one module per resource; each exports OPERATIONS."""
