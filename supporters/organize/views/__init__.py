"""The organizer workspace, one module a family of pages: auth (two-factor login),
dashboard (with the heatmap and growth chart), segments, mailings (with the one-click
unsubscribe page), imports, duplicates (possible duplicates and merging), audit_log and
moderation.

Every page below the login needs a verified second factor (StaffTwoFactorMiddleware) and
the permission of a role (roles.permission_required); views only validate, call one
service or selector, audit what shows people, and render.
"""
