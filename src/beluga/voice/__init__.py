"""Real-time voice: audio, the frame pipeline, VAD, turn detection, STT, TTS and voice sessions."""
