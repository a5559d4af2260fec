# The citybrain image: worker, simulator and dashboard are its three commands.
FROM python:3.11-slim
WORKDIR /app
COPY requirements.lock pyproject.toml README.md ./
COPY detectors detectors
COPY infra infra
COPY streams streams
COPY sensors_sim sensors_sim
COPY dashboard dashboard
COPY scenarios scenarios
RUN pip install --no-cache-dir -c requirements.lock . && useradd --create-home citybrain \
    && mkdir -p /data && chown citybrain /data
USER citybrain
