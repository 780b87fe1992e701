"""Built-in node types, one small module each; imported only when a workflow uses them."""
