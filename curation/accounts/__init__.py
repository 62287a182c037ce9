"""Who may do what: users and their roles, logins, permissions, the audit log, and where the
app may listen. Imports settings, errors, enums and db; nothing else of curation."""
