"""crush's built-in codec plugins, one module per codec.

Nothing here is imported by name at run time: the generated
``crush/_registry.py`` imports the classes that ``plugins.toml`` lists.
"""
