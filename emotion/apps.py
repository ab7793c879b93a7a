from django.apps import AppConfig


class EmotionConfig(AppConfig):
    name = "emotion"
    verbose_name = "Emotion"

    def ready(self) -> None:
        # Nothing here imports TensorFlow: the model loads on the first webcam connection.
        from accounts import dashboard
        from emotion.views import mood_panel_context

        dashboard.register(
            dashboard.Panel(
                key="mood-check",
                roles=("participant",),
                template="emotion/panels/mood_check.html",
                context=mood_panel_context,
                order=40,
            )
        )
