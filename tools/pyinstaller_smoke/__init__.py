"""The PyInstaller smoke app: proves crush freezes with no hidden imports or hooks."""
