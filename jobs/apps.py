from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "后台任务"

    def ready(self):
        autodiscover_modules("job_kinds")  # each app's job kinds register themselves with the runner

        # Deferred: the models are importable only once the app registry is ready
        from governance import visibility

        from .models import Job, owned_jobs

        # A job's entries (its title, parameters, file names) are its owner's, as its pages are.
        visibility.register_records(Job, owned_jobs)
