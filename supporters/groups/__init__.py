"""Local groups that activists run themselves: proposed for an area, approved by
coordinators, joined by neighbours (sharing their name and email with the leaders only if
they choose), mailed by their leaders through Sosedi's outbox. No page shows a member's
hexagon; counts outside the group are k-anonymous like the public map's cells."""
