from django.core.management.base import BaseCommand

from geo.snapshot import snapshot_refresh
from supporters.models import Supporter


def public_map_people():
    """Who counts on the public map: confirmed supporters who consented to appear on it."""
    return Supporter.objects.filter(status=Supporter.Status.ACTIVE, consent_public_map=True)


class Command(BaseCommand):
    help = (
        "Rebuild the public map's snapshot now: k-anonymous, perturbed hexagon counts and "
        "totals from active supporters who consented to the public map."
    )

    def handle(self, *args, **options):
        verbose = options["verbosity"] >= 1
        report = snapshot_refresh(
            people=public_map_people(),
            progress=(lambda message: self.stdout.write(f"  {message}")) if verbose else None,
        )
        if not verbose:
            return
        snapshot = report.snapshot
        per_resolution = ", ".join(
            f"res {r}: {n}" for r, n in sorted(report.cells_by_resolution.items())
        )
        total = "hidden (fewer than k)" if report.total is None else f"about {report.total}"
        self.stdout.write(
            self.style.SUCCESS(
                f"map snapshot {snapshot.version}: {report.people} people on the map, "
                f"{snapshot.cells} public cells ({per_resolution or 'none'}), "
                f"{report.areas} area totals, headline total {total}, k={snapshot.k}, "
                f"{snapshot.build_seconds:.1f}s"
            )
        )
