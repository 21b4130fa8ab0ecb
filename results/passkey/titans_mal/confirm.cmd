build/bin/titans eval --model runs/passkey/titans_mal/model.safetensors --task passkey --lengths 1M --samples 10 --seed 200 --threads 1 --json runs/passkey/titans_mal/confirm.json
