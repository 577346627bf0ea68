FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ENERGY_VAR_DIR=/var/lib/energy
# pg_dump / pg_restore for `manage.py backup` and `manage.py restore` (PostgreSQL 15).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
# Static files (admin CSS, Swagger UI from drf-spectacular-sidecar) in the image: served by
# whitenoise from the web process, or by nginx from the compose volume they are copied to.
RUN mkdir -p /var/lib/energy && DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "-c", "deploy/gunicorn.conf.py", "energy_site.wsgi"]
