"""Therapist invites, links and notes moved to the therapy app (issue 15). State only: the
tables stay, therapy 0001 took them over and therapy 0002 renames them."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_username_confusable_skeleton"),
        ("therapy", "0001_moved_from_accounts_and_recommender"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="TherapistInvite"),
                migrations.DeleteModel(name="TherapistLink"),
                migrations.DeleteModel(name="TherapistNote"),
            ],
        ),
    ]
