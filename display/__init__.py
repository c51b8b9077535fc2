"""The waiting-room display: a Kivy call board with chime and offline voice."""
