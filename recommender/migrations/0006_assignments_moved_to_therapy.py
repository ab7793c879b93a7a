"""Assignments moved to the therapy app (issue 15). State only: the tables stay, therapy 0001
took them over and therapy 0002 renames them."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("recommender", "0005_audio_checked_by_content_generated_names"),
        ("therapy", "0001_moved_from_accounts_and_recommender"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="AssignmentOccurrence"),
                migrations.DeleteModel(name="Assignment"),
            ],
        ),
    ]
