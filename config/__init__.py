"""The composition: settings, the root URLs and the Site, the home page and dashboards, the demo loader;
may import every app."""
