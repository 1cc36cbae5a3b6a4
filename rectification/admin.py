"""Admin of rectification records. The app has no models yet; register them here as they are added
(configuration with `governance.admin_audit.AuditedModelAdmin`, records written by services and
flows with `ReadOnlyAdminMixin`)."""
